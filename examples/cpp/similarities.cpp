// Embed an image and some captions, print each caption's cosine similarity
// and zero-shot probability:
//     clip-cpp-similarities MODEL IMAGE CAPTION...
#include "clip.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

int main(int argc, char **argv)
{
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s MODEL IMAGE CAPTION...\n", argv[0]);
        return 2;
    }
    try {
        clip::ImageEncoder images(argv[1]);
        clip::TextEncoder texts(argv[1]);
        clip::Vector image = images.encode_file(argv[2]);
        std::vector<clip::Vector> captions = texts.encode({argv + 3, argv + argc});

        std::vector<double> logits;
        for (const auto &caption : captions)
            logits.push_back(images.logit_scale() * clip::similarity(image, caption));
        double max = *std::max_element(logits.begin(), logits.end()), sum = 0;
        for (double l : logits)
            sum += std::exp(l - max);
        for (std::size_t i = 0; i < captions.size(); i++)
            std::printf("%.4f  %6.2f%%  %s\n", clip::similarity(image, captions[i]),
                        100.0 * std::exp(logits[i] - max) / sum, argv[3 + i]);
    } catch (const clip::Error &e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    return 0;
}
