"""The seat map's pool (docs/operations.md, "A pool for the seat map") under granian
(config/servers.py):

    python -m config.mapserver   # MAP_HOST:PORT, MAP_WORKERS processes of MAP_THREADS threads

Polls are small, many and mostly answered from Redis: for them the server's own work per
request (accepting the connection, parsing the request, writing the answer) is a large share,
and granian does it in Rust.
"""

from config.servers import seat_map

if __name__ == "__main__":
    seat_map()
