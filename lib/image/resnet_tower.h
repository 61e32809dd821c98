/* OpenAI's ModifiedResNet image tower (CLIP RN50, RN101, RN50x4, ...):
 *   stem: three 3x3 convolutions (the first of stride 2), each followed by
 *         BatchNorm and ReLU, then a 2x2 average pool;
 *   four layers of Bottleneck blocks: 1x1 conv, 3x3 conv, a 2x2 average pool
 *         when the block strides ("anti-aliased" downsampling), 1x1 conv; the
 *         shortcut is an average pool, 1x1 conv and BatchNorm when the shape
 *         changes; ReLU after the residual add;
 *   attention pool: the mean of the final grid's pixels prepended as a token,
 *         positions added, one multi-head attention query (the mean token)
 *         over all tokens.
 * Activations are channels-last ([image][y][x][channel]). Where the engine
 * convolves (oneDNN) it reads those grids directly; otherwise every 1x1
 * convolution is a linear layer over pixel rows and every 3x3 one a linear
 * layer over im2col rows. BatchNorm is folded into the convolution before it
 * when the model opens. The attention pool's output projection (c_proj) is
 * the image tower's shared projection tail (image/image_tower.h). */
#ifndef LCLIP_IMAGE_RESNET_TOWER_H
#define LCLIP_IMAGE_RESNET_TOWER_H

#include "common/team.h"
#include "image/vision_config.h"
#include "libclip.h"
#include "transformer/weights.h"

/* A convolution with its BatchNorm folded in: lin.weight is
 * [out][kernel][kernel][in] (an im2col row's order; NULL once the engine
 * has packed it) and lin.bias the folded shift. Padding is kernel / 2. */
typedef struct lclip_conv {
    lclip_linear lin;
    int kernel, stride;
    int side;                      /* of the grids it convolves */
    const lclip_gemm_conv *engine; /* the engine's own convolution, or NULL: unfold, then lin */
} lclip_conv;

typedef struct lclip_bottleneck {
    lclip_conv conv1, conv2, conv3;
    lclip_conv downsample; /* downsample.lin.out 0: the shortcut is the input */
    int stride;            /* 1 or 2: the average pool after conv2 and in the shortcut */
} lclip_bottleneck;

typedef struct lclip_resnet_tower {
    lclip_vision_config cfg;
    lclip_conv stem[3];
    lclip_bottleneck *blocks; /* layers[0] + ... + layers[3] of them, in order */
    int n_blocks;
    const float *positional_embedding; /* [grid*grid + 1][32 width], row 0 = mean token */
    lclip_linear q, k, v;              /* [32 width][32 width] with biases */
    const lclip_gemm *engine;          /* of the layers, also running the pool's products (NULL: the CBLAS) */
} lclip_resnet_tower;

/* How many images a pass runs on a team of members (1 without a team):
 * a few per member, each member running one at a time; fewer than members
 * (shared out step by step) where one image's activations per member would
 * take too much memory; at least 1. */
size_t lclip_resnet_tower_images_per_pass(const lclip_resnet_tower *tower, int members);

/* pixels: n preprocessed images [3][size][size]; pooled: n attention-pool
 * outputs [32 width], before c_proj. */
lclip_status lclip_resnet_tower_pool(lclip_team *team, const lclip_resnet_tower *tower, const float *pixels, int n,
                                     float *pooled);

#endif
