#!/usr/bin/env bash
# Usage: GPUS=16 bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py options]
#
# Pre-emption and requeue: on SIGTERM (Slurm pre-empting or cancelling the
# job, or --signal=TERM@<seconds> before its time limit) every rank saves a
# checkpoint at the end of the iteration in progress and the run exits 143
# (docs/crash_safety.md). Pass --resume, so that a requeued job continues
# from that checkpoint (with none yet, --resume starts at iteration 0), e.g.
# in an sbatch script:
#   #SBATCH --requeue            # requeued when pre-empted (PreemptMode=REQUEUE)
#   #SBATCH --signal=TERM@180    # SIGTERM 3 minutes before the time limit
#   bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR --resume
#   [ $? -eq 143 ] && scontrol requeue "$SLURM_JOB_ID"
# The save has to fit in the grace period between SIGTERM and SIGKILL
# (KillWait, 30 s by default): one iteration and one checkpoint write. (Not
# run on a Slurm cluster here: the signal handling is tested on a CPU
# machine, docs/crash_safety.md.)
set -x
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PY_ARGS=${@:5}

PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
srun -p ${PARTITION} \
    --job-name=${JOB_NAME} \
    --gres=gpu:${GPUS_PER_NODE} \
    --ntasks=${GPUS} \
    --ntasks-per-node=${GPUS_PER_NODE} \
    --cpus-per-task=${CPUS_PER_TASK} \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    python -u "$(dirname "$0")/train.py" ${CONFIG} --work-dir=${WORK_DIR} --launcher="slurm" ${PY_ARGS}
