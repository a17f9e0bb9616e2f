/* Test keys for the RSA / ECDSA (CloudFront) key types, written by the openssl
 * command line tool (OpenSSL 3.0), an implementation independent of libstream's
 * own encoder. Test material only: never used for anything else. */
#ifndef TEST_PEM_FIXTURES_H
#define TEST_PEM_FIXTURES_H

/* RSA 2048, PKCS#1 "RSA PRIVATE KEY" (openssl genrsa -traditional) */
static const char PEM_RSA_PKCS1[] =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEogIBAAKCAQEAozR0C0kofRAFjH5KhIGk/gKgwTMcSBkBLoxyK+9udO1xsqvc\n"
    "l/uaNXqqO+rZtJ7TVuwCMmD89/lpKmkNkW5qw2y7xc+A39bi4BMt4iqdXi6QmDKN\n"
    "RD/SMrHdSkivAdpX1xuCNQvYPpE08DhjSXH0+5BIM0T6SSZcyR3FsmZmX+MVBjkR\n"
    "Qx9L/yy3xKUG01aDeaM/4Tx2lC9tU97lxGgwQaYeZAP1BxMO9B7q/o7yAdSratxN\n"
    "MyQQDKRqjXjf6O5PlfKc+lXPpZSavRR379Of6cNcP2iaMNqt0Ic/msaAhPUrn31F\n"
    "H7SBjeeSxz9mElcNlpHqJnwWIWn8XCf7tqHCFQIDAQABAoIBAFA/a+natJJd7OSK\n"
    "epiR6K9PWnz05SycQuUBAOiSh9TtpdDNSZ/fgpFWOdtRXG/AArnEPUZJQ0mo9Ol6\n"
    "E0ZVrSBfWCrpH3ywvAii1ZZWDt/u9IEppiWPXgs4Qs+SUp8OHc/ywkDUDKWjH40Y\n"
    "pNVJt8R0StQO0CRkvQ3U2k8go6j0hcwjww/k4p0kX9Mj3LGcdne8hjEYOxaia/k7\n"
    "Vg3JZEq/xge6MUZRfCKWr5akOYf0l/e8lnbI2MhobPtbSIamRxQVh44FwVBvMcgz\n"
    "Dmfd9qT4zuzJIBcZbwyZHgQucJ2BfyNsC6mPtBsb/kGcvfRcljqJDJWvu/fG8dGV\n"
    "mEq+hRcCgYEA1DVZc1G6MkFGDHjVbnpOeUlFDQAG0G3AMlZmw/ICPzOMOcfV0SrX\n"
    "4LIcjPfNzZFrYCfmF6u1crHRElwt9rUdy+xjm+qSUhCsgB5tTeqsSVm7DlNQi7wn\n"
    "UW/JEX4JKdhewTpYkd5Eza/FwnNsc0jAuAt27G20T9WFxnYNrOykLasCgYEAxOJS\n"
    "lrhqQ6bMmavybJEwLHFqaeOLuUPeL+gZx58ndpvm3F0qH839MB/JaddD3y78PVxG\n"
    "lWfJoKtkA7HxpWkZJ6Ue8fiVcmcPax6tFfQaMr8VLct9hISNn9kqK2qycM6o3XHR\n"
    "JU5+af/azhYY2non+smAX/d3Tk9lQ66RreYojz8CgYAtQ4/n7CfWLlwdrux/mzD/\n"
    "5+QFqNrLPI3BbvKOmyFlj746WOi/q+7OK8+xNe49CeaoZPpMVEDozQr2apkXRXys\n"
    "kaiRilBZltrknRjdhM/o+W3P2W+VzrVoRnrR81tLBK75clOQEaQFZ5e8KViZoowQ\n"
    "9ckRFzldygK12VqDZxqB7wKBgALNigl1RKYD6OPDK+dZxcrMLoylXabcjXw3HK7X\n"
    "2DL7EzVN6jybrSATQ8XK979kptikyKh12sv7xKe8z8jgDyieVCtzs4T2bKTEwggO\n"
    "+pSAXefR/s51KKL+73fAxBuRBZxpc2XJkUknCFFoxR/PH2SVm8tB9aPaw4FMKezE\n"
    "2wz3AoGAWR+qxrWD2xb1gVmopFdkkRuL86uFa5aG8gYJUNqYyh4M8iatlDp+h+be\n"
    "K0o1cBUyjstQQaRrSJ4PvckwqJlcJ3iAtldb4gtMn1xEFOkvirRBC+/Nzfh1NB31\n"
    "9jmBV6lpIc+wlZvGY0oCwHmtc2SlaOw/0iqa9/JbJHto1KRRdMw=\n"
    "-----END RSA PRIVATE KEY-----\n";

/* the same key as PKCS#8 "PRIVATE KEY" (openssl pkey) */
static const char PEM_RSA_PKCS8[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCjNHQLSSh9EAWM\n"
    "fkqEgaT+AqDBMxxIGQEujHIr72507XGyq9yX+5o1eqo76tm0ntNW7AIyYPz3+Wkq\n"
    "aQ2RbmrDbLvFz4Df1uLgEy3iKp1eLpCYMo1EP9Iysd1KSK8B2lfXG4I1C9g+kTTw\n"
    "OGNJcfT7kEgzRPpJJlzJHcWyZmZf4xUGORFDH0v/LLfEpQbTVoN5oz/hPHaUL21T\n"
    "3uXEaDBBph5kA/UHEw70Hur+jvIB1Ktq3E0zJBAMpGqNeN/o7k+V8pz6Vc+llJq9\n"
    "FHfv05/pw1w/aJow2q3Qhz+axoCE9SuffUUftIGN55LHP2YSVw2WkeomfBYhafxc\n"
    "J/u2ocIVAgMBAAECggEAUD9r6dq0kl3s5Ip6mJHor09afPTlLJxC5QEA6JKH1O2l\n"
    "0M1Jn9+CkVY521Fcb8ACucQ9RklDSaj06XoTRlWtIF9YKukffLC8CKLVllYO3+70\n"
    "gSmmJY9eCzhCz5JSnw4dz/LCQNQMpaMfjRik1Um3xHRK1A7QJGS9DdTaTyCjqPSF\n"
    "zCPDD+TinSRf0yPcsZx2d7yGMRg7FqJr+TtWDclkSr/GB7oxRlF8IpavlqQ5h/SX\n"
    "97yWdsjYyGhs+1tIhqZHFBWHjgXBUG8xyDMOZ932pPjO7MkgFxlvDJkeBC5wnYF/\n"
    "I2wLqY+0Gxv+QZy99FyWOokMla+798bx0ZWYSr6FFwKBgQDUNVlzUboyQUYMeNVu\n"
    "ek55SUUNAAbQbcAyVmbD8gI/M4w5x9XRKtfgshyM983NkWtgJ+YXq7VysdESXC32\n"
    "tR3L7GOb6pJSEKyAHm1N6qxJWbsOU1CLvCdRb8kRfgkp2F7BOliR3kTNr8XCc2xz\n"
    "SMC4C3bsbbRP1YXGdg2s7KQtqwKBgQDE4lKWuGpDpsyZq/JskTAscWpp44u5Q94v\n"
    "6BnHnyd2m+bcXSofzf0wH8lp10PfLvw9XEaVZ8mgq2QDsfGlaRknpR7x+JVyZw9r\n"
    "Hq0V9BoyvxUty32EhI2f2SorarJwzqjdcdElTn5p/9rOFhjaeif6yYBf93dOT2VD\n"
    "rpGt5iiPPwKBgC1Dj+fsJ9YuXB2u7H+bMP/n5AWo2ss8jcFu8o6bIWWPvjpY6L+r\n"
    "7s4rz7E17j0J5qhk+kxUQOjNCvZqmRdFfKyRqJGKUFmW2uSdGN2Ez+j5bc/Zb5XO\n"
    "tWhGetHzW0sErvlyU5ARpAVnl7wpWJmijBD1yREXOV3KArXZWoNnGoHvAoGAAs2K\n"
    "CXVEpgPo48Mr51nFyswujKVdptyNfDccrtfYMvsTNU3qPJutIBNDxcr3v2Sm2KTI\n"
    "qHXay/vEp7zPyOAPKJ5UK3OzhPZspMTCCA76lIBd59H+znUoov7vd8DEG5EFnGlz\n"
    "ZcmRSScIUWjFH88fZJWby0H1o9rDgUwp7MTbDPcCgYBZH6rGtYPbFvWBWaikV2SR\n"
    "G4vzq4VrlobyBglQ2pjKHgzyJq2UOn6H5t4rSjVwFTKOy1BBpGtIng+9yTComVwn\n"
    "eIC2V1viC0yfXEQU6S+KtEEL783N+HU0HfX2OYFXqWkhz7CVm8ZjSgLAea1zZKVo\n"
    "7D/SKpr38lske2jUpFF0zA==\n"
    "-----END PRIVATE KEY-----\n";

/* its SubjectPublicKeyInfo "PUBLIC KEY" (openssl pkey -pubout) */
static const char PEM_RSA_PUB[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAozR0C0kofRAFjH5KhIGk\n"
    "/gKgwTMcSBkBLoxyK+9udO1xsqvcl/uaNXqqO+rZtJ7TVuwCMmD89/lpKmkNkW5q\n"
    "w2y7xc+A39bi4BMt4iqdXi6QmDKNRD/SMrHdSkivAdpX1xuCNQvYPpE08DhjSXH0\n"
    "+5BIM0T6SSZcyR3FsmZmX+MVBjkRQx9L/yy3xKUG01aDeaM/4Tx2lC9tU97lxGgw\n"
    "QaYeZAP1BxMO9B7q/o7yAdSratxNMyQQDKRqjXjf6O5PlfKc+lXPpZSavRR379Of\n"
    "6cNcP2iaMNqt0Ic/msaAhPUrn31FH7SBjeeSxz9mElcNlpHqJnwWIWn8XCf7tqHC\n"
    "FQIDAQAB\n"
    "-----END PUBLIC KEY-----\n";

/* its PKCS#1 "RSA PUBLIC KEY" (openssl rsa -RSAPublicKey_out) */
static const char PEM_RSA_PUB_PKCS1[] =
    "-----BEGIN RSA PUBLIC KEY-----\n"
    "MIIBCgKCAQEAozR0C0kofRAFjH5KhIGk/gKgwTMcSBkBLoxyK+9udO1xsqvcl/ua\n"
    "NXqqO+rZtJ7TVuwCMmD89/lpKmkNkW5qw2y7xc+A39bi4BMt4iqdXi6QmDKNRD/S\n"
    "MrHdSkivAdpX1xuCNQvYPpE08DhjSXH0+5BIM0T6SSZcyR3FsmZmX+MVBjkRQx9L\n"
    "/yy3xKUG01aDeaM/4Tx2lC9tU97lxGgwQaYeZAP1BxMO9B7q/o7yAdSratxNMyQQ\n"
    "DKRqjXjf6O5PlfKc+lXPpZSavRR379Of6cNcP2iaMNqt0Ic/msaAhPUrn31FH7SB\n"
    "jeeSxz9mElcNlpHqJnwWIWn8XCf7tqHCFQIDAQAB\n"
    "-----END RSA PUBLIC KEY-----\n";

/* P-256, "EC PARAMETERS" + SEC1 "EC PRIVATE KEY" (openssl ecparam -genkey) */
static const char PEM_EC_SEC1[] =
    "-----BEGIN EC PARAMETERS-----\n"
    "BggqhkjOPQMBBw==\n"
    "-----END EC PARAMETERS-----\n"
    "-----BEGIN EC PRIVATE KEY-----\n"
    "MHcCAQEEIAVZ3mzUnbI4z9sGBF1gZGc1lRGEHnCYptxzDR0wmoeDoAoGCCqGSM49\n"
    "AwEHoUQDQgAEiRVqMp4ByH6CKibEPh9KsUGBmQ6yujnZihSLXUAfphJhFUAlhbeZ\n"
    "ZgPxEXNvm4eqVAVsmIn4vczx0WnMAce+9w==\n"
    "-----END EC PRIVATE KEY-----\n";

/* the same key as PKCS#8 */
static const char PEM_EC_PKCS8[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgBVnebNSdsjjP2wYE\n"
    "XWBkZzWVEYQecJim3HMNHTCah4OhRANCAASJFWoyngHIfoIqJsQ+H0qxQYGZDrK6\n"
    "OdmKFItdQB+mEmEVQCWFt5lmA/ERc2+bh6pUBWyYifi9zPHRacwBx773\n"
    "-----END PRIVATE KEY-----\n";

/* its SubjectPublicKeyInfo */
static const char PEM_EC_PUB[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEiRVqMp4ByH6CKibEPh9KsUGBmQ6y\n"
    "ujnZihSLXUAfphJhFUAlhbeZZgPxEXNvm4eqVAVsmIn4vczx0WnMAce+9w==\n"
    "-----END PUBLIC KEY-----\n";

/* RSA 1024: too small, refused */
static const char PEM_RSA_1024[] =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIICXwIBAAKBgQDhh6tz+HE7/+4acCVImbY02V/ouMkXYJZpJuvSv9rIYcvrxXiq\n"
    "YXpyvqQyG1ALs92IpgI6K+WzNB6AfIhHLzObzf1dvNkDWU03KPJ/0U8uxNfFgzZy\n"
    "mdanMrYlD1YC4mupfiaemTKD60STGxjFoCXcaOofAKDYJ49yvGWWwfSKxQIDAQAB\n"
    "AoGBAJK7YTqXppyB29lJo4hDsb9aukLAjtzt045ga0f32RFMR4+DMAmyWCd1j4Cm\n"
    "MoMaqASy9XoBe3YHb9zqqQOfWzRHri7KvYT4+WzX19VKuRnWJ2sD2BrWxv8wS8+2\n"
    "zX3GKP/E/w52qgAE4QteLL4Lay0S5gQLdIptvV7M9XkZPoshAkEA9MO6AiXuk2il\n"
    "gMg2jCvGBp6GYkDnoMg0d05tlBE21nL5m1NLszn1IZyLnMD5R41T3IKYbsq+34yf\n"
    "QkbaMNUG3QJBAOvh6fH+V3ehNNXI4l2yqJ955T+3ZHh6YV9/XzuMVgMnMAh9K9Og\n"
    "Ugj5GS3/iih/UGfVipVc8/D/cVFBhEzTMQkCQQDtMqyVHlto4TXaaqxqBJXAnmnO\n"
    "1+VgrAQkRo3suw3wnrWEMCGhS55h90pZG624CJ7niGvemn6FN8qyuOUEA73FAkEA\n"
    "pq8KqTWIy4GAG34L8Bg6rg7uH7tRZQ1d16TjP+ooMaw0dhs1qCMHNU4JLAcCsyFc\n"
    "STON7YQ04V0wzzGT8tHeOQJBALTZ5rQXzDFcWElU2Ti0XZGDWNdiY/JD9RVmi6un\n"
    "B/v7kV57tVlaTwdGltz4vCE7n4K43KhrHbM6uaxxtBvxo84=\n"
    "-----END RSA PRIVATE KEY-----\n";

/* P-384: wrong curve, refused */
static const char PEM_EC_P384[] =
    "-----BEGIN EC PRIVATE KEY-----\n"
    "MIGkAgEBBDDI+WvkJA4hBH8S41pJBzWylobpiUvfhaKx3bUx19DItzHH2mLiM8SU\n"
    "y6FrJza+0lSgBwYFK4EEACKhZANiAAT2q7HIa2bmLgthbz0cPrZXx13kG1CvsZim\n"
    "IviNjKUCaLYdP5hrgR7EVs9pc+fQdgmOUbeXLr+ZEGl5xx9xnbpWs4/TsL4V6et+\n"
    "kjOjikBqseWhWcCjEoS2XknRfx+vSrw=\n"
    "-----END EC PRIVATE KEY-----\n";

/* an Ed25519 PKCS#8 key: not RSA, not EC */
static const char PEM_ED25519_PKCS8[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIGxPC06dCqLwOiu+WR6i9XVxvFSywpVCUjlI0gfCtjQ+\n"
    "-----END PRIVATE KEY-----\n";

/* the P-256 key as encrypted PKCS#8 (openssl pkey -aes128): refused, never prompts */
static const char PEM_EC_ENCRYPTED[] =
    "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
    "MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAgyXtJ4r0kdrQICCAAw\n"
    "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEAQIEEN3gxUsEU49unQPS9b9a8PYEgZDj\n"
    "+YuqvCgSxfPgcTIn+LEd39TFBv81WtmDQiziRdab/A6qlzTeVal1xWBXx56HASu9\n"
    "71t27nEdwWtM6pSdu9MM66mSegk16P7t+OBy8fq1Qn0HCo93RRj8QQ69NfOSIfNZ\n"
    "GrC/3izrnFlVPbdnsQaat7IwNT5KiVWP4aAFZ3sOoNbRD3A2VzAxuJrm/nGAzyY=\n"
    "-----END ENCRYPTED PRIVATE KEY-----\n";

#endif
