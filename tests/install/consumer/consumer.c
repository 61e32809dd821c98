/* A minimal application: what a user writes first against an installed libclip. */
#include <stdio.h>
#include <string.h>

#include <libclip.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: consumer EXPECTED_VERSION\n");
        return 2;
    }
    if (strcmp(lclip_version(), argv[1]) != 0) {
        fprintf(stderr, "version %s, expected %s\n", lclip_version(), argv[1]);
        return 1;
    }
    lclip_image_encoder *enc;
    lclip_status s = lclip_image_encoder_open("/nonexistent/model", NULL, &enc);
    if (s != LCLIP_E_IO || enc != NULL) {
        fprintf(stderr, "expected LCLIP_E_IO, got %s\n", lclip_strerror(s));
        return 1;
    }
    printf("libclip %s: %s\n", lclip_version(), lclip_last_error());
    return 0;
}
