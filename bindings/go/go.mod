module libclip.dev/go/libclip

go 1.19
