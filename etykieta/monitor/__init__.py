"""The long-running service: a live capture feeding the signalling core, calls stored as they
finish, greetings judged while the calls go on (`service`), and the journal that lets a
restarted monitor pick up the calls it was following (`journal`)."""
