"""Project export (JSON, CSV) and import (our JSON, a Trello board export)."""
