/* Compiler attributes used across mqttls, in one place so every module spells them the same. */
#ifndef MQTTLS_ATTRIB_H
#define MQTTLS_ATTRIB_H

#define MQ_WUR        __attribute__((warn_unused_result))
#define MQ_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#define MQ_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define MQ_UNUSED     __attribute__((unused))
#define MQ_NORETURN   __attribute__((noreturn))

#define MQ_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
