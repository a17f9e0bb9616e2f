/*
 * Fuzz target: the tus Upload-Metadata header parser
 * (stream_upload_metadata_parse, libstream/upload). Invariants: success gives
 * a JSON object of string values (parsed back with cJSON), failure gives
 * NULL, a status from the documented set and a message.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "fuzz_util.h"
#include "stream/upload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *header = fuzz_cstr(data, size);
  char *json = (char *)"sentinel";
  stream_error_clear();
  int rc = stream_upload_metadata_parse(&json, header);
  fuzz_check_status(rc);
  if (rc == STREAM_OK) {
    FUZZ_ASSERT(json != NULL);
    cJSON *o = cJSON_Parse(json);
    FUZZ_ASSERT(o != NULL && cJSON_IsObject(o));
    size_t pairs = 0;
    for (const cJSON *it = o->child; it; it = it->next) {
      FUZZ_ASSERT(cJSON_IsString(it) && it->string && it->string[0]);
      FUZZ_ASSERT(!strchr(it->string, ' ') && !strchr(it->string, ','));
      pairs++;
    }
    /* Every pair of the header is in the object (keys are unique). */
    size_t commas = 0;
    for (const char *p = header; *p; p++)
      commas += *p == ',';
    FUZZ_ASSERT(header[0] == '\0' ? pairs == 0 : pairs == commas + 1);
    cJSON_Delete(o);
    stream_free(json);
  } else {
    FUZZ_ASSERT(json == NULL);
    FUZZ_ASSERT(rc == STREAM_EINVAL || rc == STREAM_ERANGE || rc == STREAM_ENOMEM);
  }
  free(header);
  return 0;
}
