"""Back-office pages: security (included by backoffice/urls.py, same namespace)."""

urlpatterns: list = []
