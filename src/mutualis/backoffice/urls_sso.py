"""Back-office pages: sso (included by backoffice/urls.py, same namespace)."""

urlpatterns: list = []
