"""marshmallow schemas: every request, form and event is validated here, errors name the field."""
