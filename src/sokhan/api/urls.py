from ninja import NinjaAPI

api = NinjaAPI(title="Sokhan API", version="1", urls_namespace="api")
