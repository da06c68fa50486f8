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
CMD ["sh", "-c", "scenematch migrate && scenematch seed && scenematch serve --host 0.0.0.0 --port 8000"]
