"""Device drivers. Each kind has an interface, real implementations chosen by URL and a
simulator that speaks the same language. Nothing here imports the console."""
