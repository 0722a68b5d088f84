"""SIM-PIPE workflow-submitter: commands on projects, pipelines and dry runs."""
