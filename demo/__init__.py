"""The demo organisation, and the seeder that writes it into the local AWS emulator.

By what it seeds: ``spec`` (the accounts and their fleet, read from data/fleet.toml),
``organisation`` (database rows and each account's role), ``budgets``, ``fleet`` (EC2),
``metrics`` (CloudWatch), ``costs`` (Cost Explorer), ``emulator`` (moto, and only moto).
``seed`` runs them all and is what callers import: ``from demo import seed as demo``.

This package itself stays empty: loading the app (every web and worker process does) imports
none of the seeder.
"""
