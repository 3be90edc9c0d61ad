"""genzoo's console scripts: one short file per command, each made by `command.hydra_command`
(or, for compare and report, plain argv parsing). Nothing here imports torch at import time."""
