from handsup.stories import urls_curate, urls_help, urls_read, urls_submit

app_name = "stories"
# Each part of the stories work keeps its own routes.
urlpatterns = [
    *urls_submit.urlpatterns,
    *urls_curate.urlpatterns,
    *urls_help.urlpatterns,
    *urls_read.urlpatterns,  # last: "stories/<id>/" would shadow "stories/new/"
]
