"""One module per resource, each an ``APIRouter``. A route imports the API's own helpers and the
layers below, never another route.
"""
