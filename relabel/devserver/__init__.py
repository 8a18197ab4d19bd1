"""The development server (`manage.py runserver`, which `make demo` serves the demo with), answering without
the 40 ms stalls of Nagle's algorithm; see server.py."""
