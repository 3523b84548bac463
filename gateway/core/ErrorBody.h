// ErrorBody: the JSON error body both listeners answer with,
// `{"error":{"code":"…","message":"…"}}`, and the reason phrase of a status.
#pragma once

#include <string>
#include <string_view>

namespace herald {

std::string errorBody(std::string_view code, std::string_view message);

// "Bad Request" for 400, and so on ("Error" for a status it does not know).
const char* reasonPhrase(int status);

}  // namespace herald
