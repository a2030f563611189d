"""The long-running services: a live capture feeding the signalling core, calls stored as they
finish, greetings judged while the calls go on (`service`); the directory follower of
``ingest --follow`` (`follow`); the speech runner that drains the recognition queue
(`speech`, also ``speech run`` and ``ingest --transcribe``) and the requeue of greetings
judged after the fact (`requeue`)."""
