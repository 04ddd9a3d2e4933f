/* Stub: the Arduino core for the ESP32, as much as the lab sketches use. Declarations only. */
#ifndef STUB_ARDUINO_H
#define STUB_ARDUINO_H

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

typedef uint8_t byte;

class Printable {
public:
	virtual ~Printable() {}
};

class IPAddress : public Printable {
public:
	IPAddress();
	IPAddress(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
};

class Print {
public:
	size_t print(const char *s);
	size_t print(char c);
	size_t print(int n, int base = 10);
	size_t print(unsigned int n, int base = 10);
	size_t print(long n, int base = 10);
	size_t print(unsigned long n, int base = 10);
	size_t print(double n, int digits = 2);
	size_t print(const Printable &p);
	size_t println(const char *s);
	size_t println(char c);
	size_t println(int n, int base = 10);
	size_t println(unsigned int n, int base = 10);
	size_t println(long n, int base = 10);
	size_t println(unsigned long n, int base = 10);
	size_t println(double n, int digits = 2);
	size_t println(const Printable &p);
	size_t println(void);
	size_t printf(const char *format, ...) __attribute__((format(printf, 2, 3)));
};

class HardwareSerial : public Print {
public:
	void begin(unsigned long baud);
};

extern HardwareSerial Serial;

void delay(uint32_t ms);
unsigned long millis(void);
long random(long howbig);
long random(long howsmall, long howbig);
void configTime(long gmtOffset_sec, int daylightOffset_sec, const char *server1, const char *server2 = nullptr,
		const char *server3 = nullptr);

#endif
