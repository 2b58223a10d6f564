"""The console's multi-screen flows: small controllers the app owns. Each pushes the
screens of one flow, runs the site commands in thread workers and shows the outcome."""
