# The explorer dashboard as a container.
#
#   docker build -t explorer .
#   docker run -p 8501:8501 -v explorer-runs:/data/runs explorer
#
# Saved runs live in the /data/runs volume, so share links keep working across restarts and upgrades.
# CPU build of torch by default; for NVIDIA GPUs build with --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128
# and run with --gpus all.
FROM python:3.11-slim

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    EXPLORER_RUNS_DIR=/data/runs \
    EXPLORER_LIST_RUNS=0 \
    NUMBA_CACHE_DIR=/tmp/numba-cache \
    STREAMLIT_SERVER_HEADLESS=true \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false

# curl: the health check; libgomp1: OpenMP for scikit-learn, UMAP and torch
RUN apt-get update && apt-get install -y --no-install-recommends curl libgomp1 \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 explorer
WORKDIR /app

COPY requirements.txt .
RUN pip install --index-url "$TORCH_INDEX" "torch==$(grep -E '^torch==' requirements.txt | cut -d= -f3)" \
    && pip install -r requirements.txt

COPY --chown=explorer:explorer explorer/ explorer/
COPY --chown=explorer:explorer pages/ pages/
COPY --chown=explorer:explorer sample_data/ sample_data/
COPY --chown=explorer:explorer .streamlit/ .streamlit/
COPY --chown=explorer:explorer app.py ./

RUN mkdir -p /data/runs && chown explorer:explorer /data/runs
VOLUME ["/data/runs"]
USER explorer

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD curl -fsS http://localhost:8501/_stcore/health || exit 1

CMD ["streamlit", "run", "app.py", "--server.port=8501", "--server.address=0.0.0.0"]
