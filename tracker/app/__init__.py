"""The composition root: ``make_tracker`` wires the real parts into the ``Tracker``
facade that the CLI, the worker and the web app call (``core``); the scheduler leader
(``leader``) and database upkeep (``dbadmin``)."""
