// Runs AWS's own @aws-sdk/cloudfront-signer (and node's crypto) for
// test_sign_cloudfront_sdk.c: reads one JSON request on stdin, writes one
// JSON answer on stdout.
//   {"sign": [{"kind": "url"|"cookies", "url", "keyPairId", "keyFile",
//              "dateLessThan" (Unix s), "dateGreaterThan"?, "ipAddress"?,
//              "policyResource"? (custom policy JSON built here), "algorithm"?}],
//    "verify": [{"keyFile" (public PEM), "data", "signature" (CloudFront base64),
//                "algorithm": "SHA1"|"SHA256"}]}
// -> {"sign": [string | {cookie: value}], "verify": [bool]}
import { readFileSync } from "node:fs";
import { createPublicKey, verify } from "node:crypto";
import { getSignedCookies, getSignedUrl } from "@aws-sdk/cloudfront-signer";

const req = JSON.parse(readFileSync(0, "utf8"));
const ms = (s) => (s ? new Date(s * 1000) : undefined);

const signed = (req.sign ?? []).map((c) => {
  const args = {
    url: c.url,
    keyPairId: c.keyPairId,
    privateKey: readFileSync(c.keyFile, "utf8"),
    dateLessThan: ms(c.dateLessThan),
    dateGreaterThan: ms(c.dateGreaterThan),
    ipAddress: c.ipAddress,
    algorithm: c.algorithm,
  };
  if (c.policyResource) {
    // A custom policy with a Resource other than the URL, built the way the
    // SDK's own builder does (JSON.stringify, same member order).
    args.policy = JSON.stringify({
      Statement: [
        {
          Resource: c.policyResource,
          Condition: { DateLessThan: { "AWS:EpochTime": c.dateLessThan } },
        },
      ],
    });
    delete args.dateLessThan;
  }
  return c.kind === "cookies" ? getSignedCookies(args) : getSignedUrl(args);
});

const verified = (req.verify ?? []).map((v) => {
  const sig = Buffer.from(
    v.signature.replace(/[-_~]/g, (m) => ({ "-": "+", _: "=", "~": "/" })[m]),
    "base64",
  );
  const key = createPublicKey(readFileSync(v.keyFile, "utf8"));
  return verify(v.algorithm === "SHA256" ? "sha256" : "sha1", Buffer.from(v.data), key, sig);
});

process.stdout.write(JSON.stringify({ sign: signed, verify: verified }) + "\n");
