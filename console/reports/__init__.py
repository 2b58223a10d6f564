"""Reports for attendants and managers: the shift (Z) report, the manager's figures over a
period, and their printouts and exports. Reads the database; never writes it."""
