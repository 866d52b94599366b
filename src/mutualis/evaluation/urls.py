"""The analysis of offers, mounted under ``/o/<slug>/evaluation/``."""

from django.urls import path

from . import views

app_name = "evaluation"

_A = "consultations/<int:pk>/analyses/<int:analysis_id>/"

urlpatterns = [
    path("consultations/<int:pk>/", views.consultation, name="consultation"),
    path("consultations/<int:pk>/start/", views.open_analysis, name="open"),
    path("consultations/<int:pk>/rounds/", views.open_round, name="round_open"),
    path("consultations/<int:pk>/report.pdf", views.report_pdf, name="report_pdf"),
    path("consultations/<int:pk>/report.xlsx", views.report_xlsx, name="report_xlsx"),
    path(_A, views.analysis, name="analysis"),
    path(_A + "settings/", views.configure, name="configure"),
    path(_A + "subcriteria/", views.add_subcriterion, name="subcriterion_add"),
    path(
        _A + "subcriteria/<int:criterion_id>/remove/",
        views.remove_subcriterion,
        name="subcriterion_remove",
    ),
    path(_A + "offers/<int:offer_id>/price/", views.set_price, name="price"),
    path(_A + "offers/<int:offer_id>/score/", views.score, name="score"),
    path(_A + "start-scoring/", views.start_scoring, name="start_scoring"),
    path(_A + "close/", views.close, name="close"),
    path(_A + "ranking/", views.ranking, name="ranking"),
]
