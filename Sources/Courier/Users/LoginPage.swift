/// The dev server's sign-in form: one `email` field, a submit button, and its Log Out button.
enum LoginPage {
    static func render(continue destination: String, email: String, problem: String?) -> String {
        let notice = problem.map { "<p id=\"problem\" class=\"problem\">\(HTML.escape($0))</p>" } ?? ""
        return """
        <!doctype html>
        <html><head><meta charset="utf-8"><title>Sign in</title>
        <style>
          body { font: 15px system-ui, sans-serif; max-width: 28em; margin: 3em auto; }
          .problem { color: #b00; }
          input[type=email] { width: 100%; padding: .4em; margin: .5em 0 1em; }
        </style></head><body>
        <h1>Sign in</h1>
        <p>Any email address will do: this is a development sign-in, with no password.</p>
        \(notice)
        <form method="post" action="\(Users.loginPath)">
          <label for="email">Email</label>
          <input type="email" id="email" name="email" value="\(HTML.escape(email))" placeholder="test@example.com" required autofocus>
          <input type="hidden" name="continue" value="\(HTML.escape(destination))">
          <button type="submit" id="submit-login" name="action" value="Log In">Log In</button>
          <button type="submit" id="submit-logout" name="action" value="Logout" formnovalidate>Log Out</button>
        </form>
        </body></html>
        """
    }
}
