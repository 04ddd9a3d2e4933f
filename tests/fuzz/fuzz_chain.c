/* chain: hostile bytes as a certificate file (PEM or DER), through every cert_info consumer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mqttls/chain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	STACK_OF(X509) *sk = NULL;
	struct mq_err err = { 0 };
	bool der;
	FILE *null = fopen("/dev/null", "w");

	if (chain_load_mem("fuzz", data, size, &sk, &der, &err) > 0) {
		for (int i = 0; i < sk_X509_num(sk); i++) {
			struct cert_info ci;
			if (cert_info_from_x509(sk_X509_value(sk, i), i, &ci, &err) == 0) {
				cJSON *j = cert_info_to_json(&ci);
				char *s = cJSON_PrintUnformatted(j);

				cJSON_Delete(j);
				free(s);
				(void)cert_info_matches_host(&ci, "a.example.com", NULL);
				(void)cert_info_matches_host(&ci, "::1", NULL);
				if (null)
					cert_info_print(null, &ci, 2, "localhost", true);
			}
			cert_info_free(&ci);
		}
		sk_X509_pop_free(sk, X509_free);
	}
	if (null)
		fclose(null);
	return 0;
}
