// ctnn/data/data.hpp — everything in ctnn::data: CIFAR loaders, augmentations, the batch loader.
#pragma once

#include "ctnn/data/augment.hpp"  // augment::Compose, RandomCrop, ..., seed_cifar10()
#include "ctnn/data/cifar.hpp"    // cifar10::load, cifar100::load, Splits
#include "ctnn/data/dataset.hpp"  // Dataset, ImageShape
#include "ctnn/data/error.hpp"    // DataError
#include "ctnn/data/loader.hpp"   // Loader, LoaderOptions, Batch
#include "ctnn/data/rotation.hpp"  // RotationPretext, rotate90
#include "ctnn/data/subset.hpp"   // stratified_split, subset, labelled_fraction, select_classes
