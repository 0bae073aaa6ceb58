// Runs first in <body>, before the page paints: marks the page as scripted so GOV.UK
// Frontend's styles hide conditional sections until their choice is made.
document.body.className += " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " govuk-frontend-supported" : "");
