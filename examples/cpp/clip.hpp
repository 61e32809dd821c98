// A thin C++17 face for libclip: RAII handles that close themselves, and
// exceptions that carry the status and the library's message. Header-only, to
// copy into an application; libclip itself stays a C ABI.
#pragma once

#include <libclip.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace clip {

class Error : public std::runtime_error {
public:
    Error(lclip_status status, const std::string &what)
        : std::runtime_error(what + ": " + lclip_strerror(status) + ": " + lclip_last_error()), status_(status) {}
    lclip_status status() const noexcept { return status_; }

private:
    lclip_status status_;
};

inline void check(lclip_status status, const char *what)
{
    if (status != LCLIP_OK)
        throw Error(status, what); // lclip_last_error() is read on this thread, right after the call
}

using Vector = std::vector<float>;

class ImageEncoder {
public:
    explicit ImageEncoder(const std::string &model, const lclip_options *opts = nullptr)
    {
        lclip_image_encoder *raw = nullptr;
        check(lclip_image_encoder_open(model.c_str(), opts, &raw), model.c_str());
        handle_.reset(raw);
    }
    std::size_t dim() const { return lclip_image_encoder_dim(handle_.get()); }
    float logit_scale() const { return lclip_image_encoder_logit_scale(handle_.get()); }

    Vector encode_file(const std::string &path)
    {
        Vector out(dim());
        check(lclip_image_encode_file(handle_.get(), path.c_str(), out.data()), path.c_str());
        return out;
    }

private:
    struct Close {
        void operator()(lclip_image_encoder *enc) const noexcept { lclip_image_encoder_close(enc); }
    };
    std::unique_ptr<lclip_image_encoder, Close> handle_;
};

class TextEncoder {
public:
    explicit TextEncoder(const std::string &model, const lclip_options *opts = nullptr)
    {
        lclip_text_encoder *raw = nullptr;
        check(lclip_text_encoder_open(model.c_str(), opts, &raw), model.c_str());
        handle_.reset(raw);
    }
    std::size_t dim() const { return lclip_text_encoder_dim(handle_.get()); }

    // One row of dim() floats per text, in order, from one batched call.
    std::vector<Vector> encode(const std::vector<std::string> &texts)
    {
        std::vector<const char *> pointers;
        for (const auto &t : texts)
            pointers.push_back(t.c_str());
        Vector flat(texts.size() * dim());
        check(lclip_text_encode_batch(handle_.get(), pointers.data(), pointers.size(), flat.data()), "texts");
        std::vector<Vector> rows;
        for (std::size_t i = 0; i < texts.size(); i++)
            rows.emplace_back(flat.begin() + static_cast<std::ptrdiff_t>(i * dim()),
                              flat.begin() + static_cast<std::ptrdiff_t>((i + 1) * dim()));
        return rows;
    }

private:
    struct Close {
        void operator()(lclip_text_encoder *enc) const noexcept { lclip_text_encoder_close(enc); }
    };
    std::unique_ptr<lclip_text_encoder, Close> handle_;
};

// Cosine of two vectors the encoders normalised (the default): their dot product.
inline float similarity(const Vector &a, const Vector &b)
{
    float dot = 0.0f;
    for (std::size_t i = 0; i < a.size() && i < b.size(); i++)
        dot += a[i] * b[i];
    return dot;
}

} // namespace clip
