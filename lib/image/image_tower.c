#include "image/image_tower.h"

#include "common/alloc.h"
#include "common/batch.h"
#include "common/error.h"
#include "transformer/transformer.h"

size_t lclip_image_tower_images_per_pass(const lclip_image_tower *t, int members)
{
    if (t->cfg.arch == LCLIP_VISION_RESNET)
        return lclip_resnet_tower_images_per_pass(&t->resnet, members);
    size_t tokens = lclip_vision_tower_rows_per_image(&t->vit);
    return tokens < LCLIP_MAX_IMAGE_ROWS_PER_PASS ? LCLIP_MAX_IMAGE_ROWS_PER_PASS / tokens : 1;
}

lclip_status lclip_image_tower_forward(lclip_team *team, const lclip_image_tower *t, const float *pixels, int n,
                                       float *out)
{
    float *pooled = lclip_malloc_array((size_t)n, (size_t)t->projection.in * sizeof(float));
    if (!pooled)
        return lclip_fail(LCLIP_E_NOMEM, "out of memory encoding %d images", n);
    lclip_status s = t->cfg.arch == LCLIP_VISION_RESNET ? lclip_resnet_tower_pool(team, &t->resnet, pixels, n, pooled)
                                                        : lclip_vision_tower_pool(team, &t->vit, pixels, n, pooled);
    if (s == LCLIP_OK)
        s = lclip_linear_forward(team, &t->projection, pooled, out, n);
    lclip_free(pooled);
    return s;
}
