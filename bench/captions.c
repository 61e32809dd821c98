/* Fixed benchmark texts: realistic captions (5 to 20 tokens with the start and
 * end tokens) and, built from them, texts long enough to fill the 77-token
 * context. Written for this benchmark. */
#include "captions.h"

#include <stdlib.h>
#include <string.h>

const char *const bench_captions[BENCH_N_CAPTIONS] = {
    "a photo of a cat",
    "a dog running on the beach",
    "two people riding bicycles down a city street",
    "a plate of pasta with tomato sauce and basil",
    "a red double decker bus parked next to a curb",
    "a diagram of the water cycle with labelled arrows",
    "an old man reading a newspaper on a park bench",
    "a bowl of fruit on a wooden table",
    "a snowy mountain under a clear blue sky",
    "a child flying a kite in a grassy field",
    "a close up photo of a sunflower",
    "a laptop and a cup of coffee on a desk",
    "a train crossing a bridge over a river at sunset",
    "a black and white photo of a lighthouse",
    "a group of zebras grazing in the savanna",
    "a kitchen with white cabinets and a stainless steel fridge",
    "a surfer riding a large wave",
    "a pizza with pepperoni and olives",
    "an aerial view of a busy harbour",
    "a tabby cat sleeping on a sofa",
    "a bride and groom cutting a wedding cake",
    "a green street sign at an intersection in a quiet residential neighbourhood in the early evening",
    "a man in a suit talking on a phone",
    "a herd of sheep on a country road",
    "a painting of a ship in a storm",
    "a toddler eating a slice of watermelon",
    "a living room with a fireplace and two armchairs",
    "a skateboarder doing a trick in an empty pool",
    "a tall stack of pancakes topped with blueberries, butter and maple syrup on a blue plate",
    "an airplane taking off from a runway",
    "a woman holding an umbrella in the rain",
    "a bathroom with a white sink and a mirror",
    "a giraffe standing next to a tree",
    "a bicycle leaning against a brick wall",
    "a screenshot of a spreadsheet with a bar chart of monthly sales figures",
    "a tennis player serving the ball",
    "a horse pulling a cart through a village",
    "a vase of tulips on a windowsill",
    "a crowd watching fireworks over the city",
    "a sandwich cut in half on a white plate",
    "a polar bear swimming in icy water",
    "a red fire truck with its lights on driving through a crowded downtown street at night",
    "a baseball player swinging a bat",
    "an elephant spraying water with its trunk",
    "a person skiing down a steep slope",
    "a bunch of bananas hanging at a market stall",
    "a pair of worn leather hiking boots standing on a rock next to a backpack",
    "a motorcycle parked in front of a cafe",
    "a young boy in striped pajamas brushing his teeth in front of the bathroom mirror",
    "a clock tower in the middle of a town square",
    "a cat looking out of a window at birds",
    "a bowl of ramen with a soft boiled egg",
    "a sailboat on a calm lake in the morning",
    "an x-ray of a human hand",
    "two dogs playing with a frisbee in the park",
    "a traffic jam on a highway at night",
    "a teddy bear sitting on a bed",
    "a chef preparing sushi in a restaurant kitchen",
    "a brown and white cow lying in a green pasture with mountains and clouds behind it",
    "a hand-drawn map of an island",
    "a birthday cake with lit candles",
    "a flock of birds flying over the ocean",
    "a computer mouse next to a keyboard",
    "a rusty car abandoned in the desert",
};

char *bench_long_text(int i)
{
    /* Captions from i onwards, joined until far more words than 77 tokens
     * hold: the tokenizer then truncates to exactly 77. */
    size_t cap = 4096, len = 0;
    char *text = malloc(cap);
    if (!text)
        return NULL;
    text[0] = '\0';
    for (int j = 0; len < 1200; j++) {
        const char *c = bench_captions[(i + j) % BENCH_N_CAPTIONS];
        size_t n = strlen(c);
        if (len + n + 3 > cap)
            break;
        if (len) {
            memcpy(text + len, ", ", 2);
            len += 2;
        }
        memcpy(text + len, c, n + 1);
        len += n;
    }
    return text;
}
