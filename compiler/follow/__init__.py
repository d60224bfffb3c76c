"""After build: status, results (and plots) and explain, reading what the build and the jobs left."""
