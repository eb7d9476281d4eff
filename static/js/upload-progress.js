// Upload progress for documents in the admin (progressive enhancement). When a file is chosen on
// a change form, the form is sent with XMLHttpRequest so that a <progress> bar can show how much
// of the upload has left the browser; the answer replaces the page just as a normal submit would.
// A file over the limit is flagged at once (the server checks it again). Without JavaScript the
// form is submitted as usual.
// The admin loads this in <head>: it starts once the page is parsed.
document.addEventListener("DOMContentLoaded", function () {
    "use strict";
    var form = document.querySelector("#content-main form[enctype='multipart/form-data']");
    if (!form || !window.XMLHttpRequest || !window.FormData) {
        return;
    }
    var status = document.createElement("div");
    status.className = "upload-progress";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.hidden = true;
    var words = document.createElement("span");
    status.appendChild(bar);
    status.appendChild(document.createTextNode(" "));
    status.appendChild(words);
    form.insertBefore(status, form.firstChild);

    function fileInputs() {
        return Array.prototype.slice.call(form.querySelectorAll("input[type=file][data-max-bytes]"));
    }

    function megabytes(bytes) {
        return (bytes / (1024 * 1024)).toFixed(1).replace(".", ",") + " MB";
    }

    form.addEventListener("change", function (event) {
        var input = event.target;
        if (!input.matches || !input.matches("input[type=file][data-max-bytes]") || !input.files.length) {
            return;
        }
        var limit = parseInt(input.getAttribute("data-max-bytes"), 10);
        var file = input.files[0];
        input.setCustomValidity(file.size > limit ? "Dit bestand (" + megabytes(file.size) + ") is groter dan " + megabytes(limit) + ", het maximum." : "");
        input.reportValidity();
    });

    form.addEventListener("submit", function (event) {
        var total = 0;
        fileInputs().forEach(function (input) {
            if (input.files.length) {
                total += input.files[0].size;
            }
        });
        if (!total) {
            return;  // nothing to upload: the ordinary submit
        }
        event.preventDefault();
        var data = event.submitter ? new FormData(form, event.submitter) : new FormData(form);
        var request = new XMLHttpRequest();
        request.open("POST", form.action || window.location.href);
        bar.hidden = false;
        words.textContent = "Bezig met uploaden van " + megabytes(total) + " …";
        request.upload.addEventListener("progress", function (progress) {
            if (progress.lengthComputable) {
                var percent = Math.round((progress.loaded / progress.total) * 100);
                bar.value = percent;
                words.textContent = "Geüpload: " + percent + "% van " + megabytes(progress.total) + ".";
            }
        });
        request.upload.addEventListener("load", function () {
            words.textContent = "Upload klaar; het bestand wordt gecontroleerd …";
        });
        request.addEventListener("load", function () {
            // The answer is the page a normal submit would show: after a save the page the admin
            // redirected to (with its message, which a second request would no longer show), else
            // the form again with its errors. It replaces this page, under its own address.
            if (request.responseURL && request.responseURL !== window.location.href) {
                window.history.replaceState(null, "", request.responseURL);
            }
            document.open();
            document.write(request.responseText);
            document.close();
        });
        request.addEventListener("error", function () {
            bar.hidden = true;
            words.textContent = "De upload is mislukt (verbinding verbroken). Probeer het opnieuw.";
        });
        request.send(data);
    });
});
