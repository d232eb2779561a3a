"""The `web` pool under granian (config/servers.py, docs/operations.md):

python -m config.webserver   # WEB_HOST:PORT, WEB_WORKERS processes of WEB_THREADS threads
"""

from config.servers import web

if __name__ == "__main__":
    web()
