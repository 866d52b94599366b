"""Back-office pages: companies (included by backoffice/urls.py, same namespace)."""

urlpatterns: list = []
