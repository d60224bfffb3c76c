"""load -> validate -> name -> render -> write: the compile path every command, explain and the tests use."""
