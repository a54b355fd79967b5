"""Kubernetes Status errors."""
import json


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None, headers=None, meta=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}
        self.meta = meta or {}

    def status(self):
        s = {"kind": "Status", "apiVersion": "v1", "metadata": dict(self.meta), "status": "Failure",
             "message": self.message, "reason": self.reason}
        if self.details:
            s["details"] = self.details
        s["code"] = self.code
        return s

    def body(self):
        return json.dumps(self.status(), separators=(",", ":")).encode()


def _details(name, group, resource):
    d = {}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    d["kind"] = resource
    return d


def not_found(group, resource, name):
    gr = resource if not group else "%s.%s" % (resource, group)
    return ApiError(404, "NotFound", '%s "%s" not found' % (gr, name), _details(name, group, resource))


def already_exists(group, resource, name):
    gr = resource if not group else "%s.%s" % (resource, group)
    return ApiError(409, "AlreadyExists", '%s "%s" already exists' % (gr, name), _details(name, group, resource))


def conflict(group, resource, name):
    gr = resource if not group else "%s.%s" % (resource, group)
    return ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                    'please apply your changes to the latest version and try again' % (gr, name),
                    _details(name, group, resource))


def bad_request(msg):
    return ApiError(400, "BadRequest", msg)


def invalid(kind, group, name, field, value, detail, ctype="FieldValueInvalid"):
    if ctype == "FieldValueRequired":
        text = "%s: Required value: %s" % (field, detail)
    elif ctype == "FieldValueNotSupported":
        text = "%s: Unsupported value: %s: %s" % (field, json.dumps(value), detail)
    else:
        text = "%s: Invalid value: %s: %s" % (field, json.dumps(value), detail)
    d = {"name": name, "kind": kind, "causes": [{"reason": ctype, "message": text.split(": ", 1)[1], "field": field}]}
    if group:
        d["group"] = group
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (kind, name, text), d)


def method_not_allowed(msg="the server does not allow this method on the requested resource"):
    return ApiError(405, "MethodNotAllowed", msg)
