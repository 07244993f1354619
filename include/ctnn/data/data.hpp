// ctnn/data/data.hpp — everything in ctnn::data: CIFAR loaders, augmentations, the batch loader.
#pragma once

#include "ctnn/data/augment.hpp"  // augment::Compose, RandomCrop, ..., seed_cifar10()
#include "ctnn/data/cifar.hpp"    // cifar10::load, cifar100::load, Splits
#include "ctnn/data/dataset.hpp"  // Dataset, ImageShape
#include "ctnn/data/error.hpp"    // DataError
#include "ctnn/data/loader.hpp"   // Loader, LoaderOptions, Batch
