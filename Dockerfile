# genzoo training image: CUDA-enabled PyTorch runtime, genzoo installed, runs as a non-root user.
#   docker build -t genzoo .
#   docker run --gpus all -v $PWD/runs:/home/genzoo/runs genzoo experiment=vae_digits trainer=gpu
FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    GENZOO_DATA=/data \
    GENZOO_RUNS=/home/genzoo/runs

# Dependencies first, in their own layer: source edits do not reinstall them.
WORKDIR /opt/genzoo
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; d = tomllib.load(open('pyproject.toml', 'rb')); print('\n'.join(d['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Then the package itself (configs ship inside the wheel).
COPY src ./src
COPY configs ./configs
RUN pip install --no-deps . \
    && useradd --create-home --uid 1000 genzoo \
    && mkdir -p /data /home/genzoo/runs \
    && chown -R genzoo:genzoo /data /home/genzoo

USER genzoo
WORKDIR /home/genzoo
VOLUME ["/data", "/home/genzoo/runs"]
ENTRYPOINT ["genzoo-train"]
CMD ["experiment=vae_digits"]
