"""Imports what `mlflow-entrypoint server|migrate` loads at start, once, at image build time.

The image keeps bytecode only for these modules (and what they import): Python writes their
__pycache__ while this runs, in the build stage. The rest of the venv ships as source and is
compiled in memory if a request ever imports it (the root filesystem is read-only at run time).
Compiling everything would add ~60 MiB for modules the server never loads; compiling nothing
would make every worker compile ~2,000 modules at each start (~7 s of CPU here).
"""

import sys
import warnings

warnings.simplefilter("ignore")  # deprecation notices of the imported libraries: not ours to fix here
sys.path.insert(0, "/opt/mlflow/bin")  # mlflow_drain, beside the entrypoint

# The server: CLI, the Flask app and its handlers under uvicorn (FastAPI), the GraphQL schema
# the UI queries, the SQL stores on PostgreSQL, artifacts proxied to GCS, basic auth, metrics.
import mlflow.cli  # noqa: E402,F401
import mlflow.server.handlers  # noqa: E402,F401
import mlflow.server.fastapi_app  # noqa: E402,F401
import mlflow.server.security  # noqa: E402,F401
import mlflow.server.graphql.graphql_schema_extensions  # noqa: E402,F401
import mlflow.server.auth  # noqa: E402,F401
import mlflow.server.prometheus_exporter  # noqa: E402,F401
import mlflow.store.tracking.sqlalchemy_workspace_store  # noqa: E402,F401
import mlflow.store.model_registry.sqlalchemy_workspace_store  # noqa: E402,F401
import mlflow.store.artifact.gcs_artifact_repo  # noqa: E402,F401
import mlflow.store.db.utils  # noqa: E402,F401
import mlflow.tracing.processor.otel  # noqa: E402,F401
import sqlalchemy.dialects.postgresql.psycopg2  # noqa: E402,F401
import google.cloud.storage  # noqa: E402,F401
import psycopg2  # noqa: E402,F401
import gunicorn.app.wsgiapp  # noqa: E402,F401
import uvicorn.main  # noqa: E402,F401
import uvicorn.lifespan.on  # noqa: E402,F401
import uvicorn.loops.auto  # noqa: E402,F401
import uvicorn.protocols.http.h11_impl  # noqa: E402,F401
import uvicorn.protocols.websockets.auto  # noqa: E402,F401
import mlflow_drain  # noqa: E402,F401

print("mlflow", mlflow.__version__, "- server modules imported:", len(sys.modules))
