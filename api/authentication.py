"""`Authorization: Api-Key <key>`: the only credentials the API accepts (no session, no CSRF)."""

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions, permissions
from rest_framework_api_key.models import APIKey
from rest_framework_api_key.permissions import KeyParser


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`request.auth` is the caller's `APIKey`; a wrong, revoked or expired key is a 401."""

    keyword = KeyParser.keyword

    def authenticate(self, request):
        key = KeyParser().get(request)
        if key is None:
            return None
        try:
            api_key = APIKey.objects.get_from_key(key)
        except APIKey.DoesNotExist:
            api_key = None
        if api_key is None or api_key.has_expired:
            raise exceptions.AuthenticationFailed(_("This API key is not valid."))
        return AnonymousUser(), api_key

    def authenticate_header(self, request) -> str:
        return self.keyword


class HasApiKey(permissions.BasePermission):
    message = _("Send your API key: Authorization: Api-Key <key>.")

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, APIKey)
