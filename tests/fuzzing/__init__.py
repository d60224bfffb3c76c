"""The machinery of tests/test_fuzz.py: the hostile specs it generates (specs), the parsers that read
the outputs as their consumers do (consumers), the sandbox that runs the generated scripts against
recording stand-ins (sandbox), the compiled spec and its harmless twin (builds), and the checks on each
output (checks_jobs for the submit files and scripts, checks for the rest)."""
