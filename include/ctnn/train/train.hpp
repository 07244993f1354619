// Everything in ctnn::train, plus the schedules and checkpoints it uses.
#pragma once
#include "ctnn/io/checkpoint.hpp"
#include "ctnn/io/safetensors.hpp"
#include "ctnn/schedule/schedule.hpp"
#include "ctnn/train/batch_log.hpp"
#include "ctnn/train/history.hpp"
#include "ctnn/train/loop.hpp"
#include "ctnn/train/metrics.hpp"
#include "ctnn/train/output.hpp"
#include "ctnn/train/plot.hpp"
#include "ctnn/train/progress.hpp"
#include "ctnn/train/source.hpp"
#include "ctnn/train/trainer.hpp"
