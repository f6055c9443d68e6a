import os

os.environ.setdefault("SERVICELOOP_DATA_DIR", os.path.join(os.path.dirname(__file__), "..", "var"))
