FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY backend backend
COPY search search
COPY web web
COPY seeds seeds
RUN pip install --no-cache-dir .
ENV SCENEMATCH_DATA_DIR=/data
VOLUME /data
EXPOSE 8000
# N web processes (SCENEMATCH_WORKERS, default: the container's cores); one of them, elected, writes.
CMD ["sh", "-c", "scenematch migrate && scenematch seed && exec scenematch serve --host 0.0.0.0 --port 8000 ${SCENEMATCH_WORKERS:+--workers $SCENEMATCH_WORKERS}"]
