#include "manager/tls/certificate.h"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <fmt/format.h>

#include "base/file.h"

namespace vessel::manager::tls {

namespace {

Result<> add_extension(X509* certificate, int nid, const char* value) {
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, certificate, certificate, nullptr, nullptr, 0);
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
    if (extension == nullptr) return openssl_error(fmt::format("certificate extension {}", value));
    int added = X509_add_ext(certificate, extension, -1);
    X509_EXTENSION_free(extension);
    if (added != 1) return openssl_error("adding a certificate extension");
    return {};
}

Result<std::string> bio_text(BIO* bio) {
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    if (size < 0) return openssl_error("reading a memory buffer");
    return std::string(data, static_cast<size_t>(size));
}

}  // namespace

std::unexpected<Error> openssl_error(std::string_view what, int code) {
    std::string reasons;
    while (unsigned long error = ERR_get_error()) {
        char text[256];
        ERR_error_string_n(error, text, sizeof text);
        reasons += reasons.empty() ? "" : "; ";
        reasons += text;
    }
    if (reasons.empty()) return std::unexpected(Error(std::string(what), code));
    return std::unexpected(Error(fmt::format("{}: {}", what, reasons), code));
}

Result<CertificatePair> generate_certificate(const std::string& common_name,
                                             const std::string& dns_name) {
    KeyHandle key(EVP_EC_gen("P-256"));
    if (!key) return openssl_error("generating a P-256 key");
    CertificateHandle certificate(X509_new());
    if (!certificate) return openssl_error("allocating a certificate");
    X509_set_version(certificate.get(), 2);  // v3
    // A random 127-bit serial: two certificates made here never share one.
    unsigned char serial_bytes[16];
    if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) return openssl_error("random serial");
    serial_bytes[0] &= 0x7f;
    std::unique_ptr<BIGNUM, decltype(&BN_free)> serial(
        BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr), BN_free);
    if (!serial || !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(certificate.get())))
        return openssl_error("setting the serial");
    // An hour back, for clocks that disagree a little.
    X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(certificate.get()), 10L * 365 * 24 * 3600);
    if (X509_set_pubkey(certificate.get(), key.get()) != 1) return openssl_error("public key");
    X509_NAME* name = X509_get_subject_name(certificate.get());
    auto text = [](const std::string& value) {
        return reinterpret_cast<const unsigned char*>(value.c_str());
    };
    if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, text("vessel"), -1, -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, text(common_name), -1, -1, 0) != 1)
        return openssl_error("certificate subject");
    X509_set_issuer_name(certificate.get(), name);
    TRY(add_extension(certificate.get(), NID_basic_constraints, "critical,CA:FALSE"));
    TRY(add_extension(certificate.get(), NID_key_usage, "critical,digitalSignature"));
    TRY(add_extension(certificate.get(), NID_ext_key_usage, "serverAuth,clientAuth"));
    if (!dns_name.empty())
        TRY(add_extension(certificate.get(), NID_subject_alt_name,
                          fmt::format("DNS:{},IP:127.0.0.1,IP:::1", dns_name).c_str()));
    if (X509_sign(certificate.get(), key.get(), EVP_sha256()) == 0)
        return openssl_error("signing the certificate");

    BioHandle key_bio(BIO_new(BIO_s_mem()));
    if (!key_bio || PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                             nullptr) != 1)
        return openssl_error("writing the key");
    return CertificatePair{.certificate_pem = certificate_pem(certificate.get()),
                           .key_pem = TRY(bio_text(key_bio.get()))};
}

Result<CertificatePair> load_or_create_certificate(const std::string& directory,
                                                   const std::string& name,
                                                   const std::string& common_name) {
    auto certificate_path = directory + "/" + name + ".crt";
    auto key_path = directory + "/" + name + ".key";
    bool have_certificate = path_exists(certificate_path), have_key = path_exists(key_path);
    if (have_certificate && have_key) {
        CertificatePair pair{.certificate_pem = TRY(read_file(certificate_path)),
                             .key_pem = TRY(read_file(key_path))};
        TRY_CTX(parse_certificate(pair.certificate_pem), "{}", certificate_path);
        TRY_CTX(parse_private_key(pair.key_pem), "{}", key_path);
        return pair;
    }
    if (have_certificate || have_key)
        return fail("{} exists without {}: restore it, or remove both to make a new pair",
                    have_certificate ? certificate_path : key_path,
                    have_certificate ? key_path : certificate_path);
    TRY(make_directories(directory, 0700));
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    auto pair = TRY(generate_certificate(common_name, host));
    // The key first and whole (written beside, renamed), so that a crash leaves no certificate
    // without its key.
    TRY(write_file_atomic(key_path, pair.key_pem, 0600));
    TRY(write_file_atomic(certificate_path, pair.certificate_pem, 0644));
    return pair;
}

Result<CertificateHandle> parse_certificate(std::string_view pem) {
    BioHandle bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) return openssl_error("reading a certificate");
    CertificateHandle certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!certificate) return openssl_error("not a PEM certificate", EINVAL);
    return certificate;
}

Result<KeyHandle> parse_private_key(std::string_view pem) {
    BioHandle bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) return openssl_error("reading a key");
    KeyHandle key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key) return openssl_error("not a PEM private key", EINVAL);
    return key;
}

std::string fingerprint(X509* certificate) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (X509_digest(certificate, EVP_sha256(), digest, &length) != 1) return {};
    std::string hex;
    for (unsigned int i = 0; i < length; ++i)
        hex += fmt::format("{:02x}", digest[i]);
    return hex;
}

Result<std::string> fingerprint_of_pem(std::string_view pem) {
    auto certificate = TRY(parse_certificate(pem));
    return fingerprint(certificate.get());
}

std::string certificate_pem(X509* certificate) {
    BioHandle bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), certificate) != 1) return {};
    return bio_text(bio.get()).value_or("");
}

}  // namespace vessel::manager::tls
